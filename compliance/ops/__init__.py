"""Operations around the gate: Prometheus metrics and drift notifications."""
