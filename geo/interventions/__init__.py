"""Monitoring of the pact's interventions (art. 19): the register, the evaluation against matched
comparison areas with displacement (WDQ), and the monitoring report of the Cabina di regia."""
