"""The local stack: everything needed to run and test the service on one machine, never deployed."""
