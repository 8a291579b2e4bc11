"""Learning lead scores from rep feedback and outcomes; also the demo history generator."""
