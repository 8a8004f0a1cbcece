"""boto3 adapters: each owns one AWS resource and turns ``ClientError`` into domain errors."""
