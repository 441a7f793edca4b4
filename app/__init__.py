"""Tone Lifeline: emergency-card and EMS field system for the Tone medical region."""
