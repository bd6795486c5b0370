"""The sync benchmark (`manage.py bench_sync`): the floor the sandbox's limits allow, a throwaway
sandbox server, the benchmark catalog, the baseline and seed strategies, and process measurements."""
