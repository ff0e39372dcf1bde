"""The admin's form for a new underlying: the exchange must list options of it.

`options` cannot import `feed`, so the check is the callable that
settings.TRACKER_BASE_COIN_CHECK names: (base_coin, exchange) -> bool, raising
ValueError for an exchange it does not know and any other error when the exchange
cannot answer.
"""

from django import forms
from django.conf import settings
from django.utils.module_loading import import_string

from options.models import Underlying


class UnderlyingForm(forms.ModelForm):
    class Meta:
        model = Underlying
        fields = ["exchange", "base_coin", "enabled"]

    def clean_exchange(self) -> str:
        return self.cleaned_data["exchange"].strip().lower()

    def clean_base_coin(self) -> str:
        return self.cleaned_data["base_coin"].strip().upper()

    def clean(self) -> dict:
        cleaned = super().clean()
        exchange, base = cleaned.get("exchange"), cleaned.get("base_coin")
        if self.instance.pk is None and exchange and base:
            taken = Underlying.objects.filter(exchange=exchange, base_coin=base)
            if not taken.exists():  # a duplicate fails on the unique constraint
                self._check_listed(exchange, base)
        return cleaned

    def _check_listed(self, exchange: str, base: str) -> None:
        check = import_string(settings.TRACKER_BASE_COIN_CHECK)
        try:
            listed = check(base, exchange)
        except ValueError as exc:  # an exchange the feed has no adapter for
            raise forms.ValidationError({"exchange": str(exc)}) from None
        except Exception as exc:
            reason = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            raise forms.ValidationError(
                f"Could not check {base} against {exchange}, so it was not added: "
                f"{reason}. Try again once the exchange answers."
            ) from None
        if not listed:
            raise forms.ValidationError(
                {"base_coin": f"{exchange} lists no options for {base}."}
            )
