"""What the model stages do with a page besides calling an engine: its image, the script policy, the per-page
limits around an engine, the guards on a model's reading, and the page's lines, regions and pairs as rows."""
