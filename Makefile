# compat_diff: every target creates or reuses the virtual environment and installs what it needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help venv demo test test-fast lint bench candidates recordings generated sdk-axis matrix browser postgres clean

help:
	@echo "make demo        record a bundled scenario against moto (the stand-in for AWS) and compare real candidates"
	@echo "make test        the whole test suite (installs candidates and Chromium when missing)"
	@echo "make test-fast   the suite without live candidate and browser tests"
	@echo "make lint        ruff and mypy"
	@echo "make bench       the benchmarks in benchmarks/ (results go to BENCHMARKS.md by hand)"
	@echo "make candidates  install the real candidate clouds (apt, npm, pip) and provision openstack-ec2 once"
	@echo "make recordings  re-record every scenario in scenarios/ against moto"
	@echo "make generated   generate the suite from the API models, record it against moto, refresh suites/generated/"
	@echo "make sdk-axis    record S3 with boto3, the AWS CLI v1 and s3fs before botocore 1.36 and newest; what changed; scores per SDK"
	@echo "make matrix      every recording against every candidate; writes COMPATIBILITY.md"

# constraints.txt pins every dependency to the versions the suite last passed with: installs are
# the same on every machine, and pip never has to search old releases to reconcile the clients'
# pins (s3fs/aiobotocore against awscli/boto3), which it cannot always finish.
$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,dev,service]'
	@touch $(STAMP)

venv: $(STAMP)

# LocalStack is installed too wherever a Python 3.13 exists (the script says so and skips it otherwise).
candidates: $(STAMP)
	bash scripts/install-candidates.sh --with-localstack

browser:
	bash scripts/install-browser.sh

postgres:
	bash scripts/install-postgres.sh

demo: $(STAMP)
	$(PY) scripts/demo.py

test: $(STAMP) candidates browser postgres
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest -m 'not live and not browser' $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check compat_diff tests scripts benchmarks scenarios clients
	$(VENV)/bin/mypy compat_diff

bench: $(STAMP)
	@for script in benchmarks/*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

recordings: $(STAMP)
	$(PY) scripts/make_recordings.py

generated: $(STAMP)
	$(PY) scripts/make_generated.py --archive $(GENERATED_ARCHIVE)

# The generated suite is part of the matrix. Its recording is committed compressed (recording it
# takes minutes); the matrix unpacks it when the unpacked copy is missing or older.
GENERATED_ARCHIVE := suites/generated/generated.jsonl.gz
.work/generated/generated.jsonl: $(GENERATED_ARCHIVE)
	@mkdir -p $(@D)
	gzip -dc $< > $@.partial && mv $@.partial $@

sdk-axis: $(STAMP)
	$(PY) scripts/sdk_axis.py

matrix: $(STAMP) candidates .work/generated/generated.jsonl
	$(PY) scripts/matrix.py

clean:
	rm -rf .work demo-out test-artifacts .pytest_cache .mypy_cache .ruff_cache
