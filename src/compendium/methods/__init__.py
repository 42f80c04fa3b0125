"""Layer 5: methods built on the measures: activation maximisation, Network Dissection,
model observers, the behavioural experiment and the recurrent positive control."""
