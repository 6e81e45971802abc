"""Recognizers that read crops of pages in batches (transformers models), for the scripts routed to them."""
