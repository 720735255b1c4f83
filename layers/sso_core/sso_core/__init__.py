"""Shared layer of the enterprise SSO service: domain logic, DynamoDB access and SAML code.

Handlers in ``functions/`` parse events, call one logic function and map its result or
its domain exception to a response. Logic never sees HTTP; data access never returns raw items.
"""
