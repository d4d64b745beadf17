"""Qazaq eGov Assistant: answers citizens about egov.kz services in kk/ru/en from a cited corpus."""
