"""Hopsworks' module paths on fti, so that code written for Hopsworks imports unchanged once
``hopsworks`` reads ``fti``: ``from fti.hsfs.builtin_transformations import min_max_scaler``.
fti's own home of these is :mod:`fti.builtins`."""
