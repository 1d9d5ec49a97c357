"""The distributed runtime: faust workers on Kafka around the same pure core."""
