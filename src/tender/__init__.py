"""Tender: signed bids, sealed on arrival, opened at the deadline, audited."""
