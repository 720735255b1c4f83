"""Powertools Logger, Tracer and Metrics, made once for every function.

Service name and namespace come from POWERTOOLS_* variables set in the template's Globals.
Logs carry tenant, connection and error codes; never SAML messages, tokens, codes or secrets.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
