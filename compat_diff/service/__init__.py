"""The compatibility service: suites, providers, endpoints and runs on a durable engine, history and
signed attestations, driving the same pipeline (replay, compare, report) the command line uses."""
