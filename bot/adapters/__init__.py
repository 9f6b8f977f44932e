"""Chat platform adapters: the typed contract (base), the console, Telegram and Slack. Platform quirks live here."""
