"""At LOG_LEVEL=DEBUG, no logger that sees URLs or token bodies may write them."""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest
from django.conf import settings
from django.utils.log import configure_logging


@pytest.mark.parametrize("name", ["urllib3", "oauthlib", "requests_oauthlib", "oauth2_provider"])
def test_loggers_that_see_secrets_stay_quiet_at_debug(name):
    config: dict[str, Any] = copy.deepcopy(settings.LOGGING)
    config["root"]["level"] = "DEBUG"
    configure_logging(settings.LOGGING_CONFIG, config)
    try:
        assert not logging.getLogger(name).isEnabledFor(logging.DEBUG)
        assert not logging.getLogger(name).isEnabledFor(logging.INFO)
    finally:
        configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
