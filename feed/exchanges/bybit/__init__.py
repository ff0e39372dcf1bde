"""Bybit v5 options: the public option stream and the REST instrument listing."""
