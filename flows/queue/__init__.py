"""The archivists' batch queue, kept in Prefect: batches, their deployments, the nightly run and its lease,
`lontar serve`."""
