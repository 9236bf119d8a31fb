"""What content may leave the process: encoding, secret and PII redaction, the policy."""
