"""Pages Lontar draws itself: the sample archive, the layouts of the regression set, the accuracy eval set. For
the demo, the tests and the benchmarks; never evidence of accuracy on real scans (docs/accuracy.md)."""
