from sdk_compare import frozen_oss2  # noqa: F401  (a fixture for every unit test)
