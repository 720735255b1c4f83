"""The people of the SSO access tests' worlds."""

BREAK_GLASS = "boss@acme.example"  # an owner membership whose email is outside acme.test
SECOND_OWNER = "second-owner@acme.test"
