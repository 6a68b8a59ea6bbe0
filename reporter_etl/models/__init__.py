"""SQL models over the warehouse and the statistics that turn their sums into experiment comparisons."""
