"""Open data: published tenders, their addenda, opening statistics and awards as OCDS 1.1.5
release packages. Nothing is served before it is public: no drafts, and nothing about bids
before the opening."""
