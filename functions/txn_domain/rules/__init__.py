"""Fraud rules as data (``document.json``) and their compiler (``engine.py``)."""

from txn_domain.rules.engine import CompiledRule, RuleSet, compile_rules, load_default_rules

__all__ = ["CompiledRule", "RuleSet", "compile_rules", "load_default_rules"]
