"""Provisioning of the AWS ingestion side (S3, IAM, Kinesis, API Gateway, MSK, EC2, MSK Connect, MWAA)."""
