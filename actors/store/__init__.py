"""The dataset on storage: the record schema, where each file lives, the shard writer and the columns it derives
(language, quality signals, near-duplicates), and the stream that commits units."""
