"""What is outside the shop, stood in for on a laptop: a card provider's sandbox (test
tokens, no money) and a mail catcher (SMTP into a Maildir). Each speaks the real protocol,
so the real provider or mail server takes its place by a setting."""
