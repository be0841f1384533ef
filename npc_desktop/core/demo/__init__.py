"""The synthetic demo study the app opens when started without a path (DESIGN.md section 7).

- :mod:`.study`: what a demo study is (:class:`DemoStudy`, its lesions' ground truth, the seed).
- :mod:`.anatomy`: the synthetic head-and-neck anatomy and lesions, rendered per series.
- :mod:`.dicom_writer`: :func:`write_demo_study`, standard-conformant and byte-identical per seed.
- :mod:`.cache`: :func:`ensure_demo_study`, written once into the user's cache and checked by hash.
"""
