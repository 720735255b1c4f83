"""DynamoDB access. Functions here take and return models, and turn ClientError codes into domain exceptions."""
