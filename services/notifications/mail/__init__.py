"""Email: composing messages in the member's language (:mod:`.compose`) and sending them over
SMTP (:mod:`.smtp`)."""
