"""Pinterest-style posts to clean Delta tables and insights: shared cleaning for a daily batch job and a
Kinesis streaming job, on Databricks or on one machine."""

__version__ = "0.1.0"
