"""Ray: the cluster's life (start, join, stop: lifecycle.py), the stream that runs the stages on it
(stream.py), and whether this process was asked to stop (stop.py). The only room below flows/ that imports Ray."""
