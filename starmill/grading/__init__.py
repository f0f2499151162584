"""The verifiers at work outside a run's own loop: ``audit`` (a second verifier over an sft version's
kept rows), ``regrade`` (a stored samples version graded again with today's verifiers) and ``rewards``
(the verifiers as rule-based RL rewards in TRL's ``GRPOTrainer`` signature)."""
