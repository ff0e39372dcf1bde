// The browsable API's filter form (api/templates/api/filter_form.html): empty fields
// are left out of the query, since the API answers an empty parameter with a 400.
// A static file rather than an inline handler: the Content-Security-Policy allows none.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.matches("form.api-filters")) return;
  for (const field of form.elements) {
    if (field.name && field.value === "") field.disabled = true;
  }
});
