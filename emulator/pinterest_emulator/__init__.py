"""Source database seeding, the posting emulator and the local gateway (the stand-ins for RDS, API Gateway,
the Kafka REST proxy with Kafka Connect's S3 sink, and the Kinesis proxy)."""
