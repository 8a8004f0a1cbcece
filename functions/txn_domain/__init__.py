"""Pure transaction domain: models, validation, PAN detection, fraud rules. No boto3 here."""
