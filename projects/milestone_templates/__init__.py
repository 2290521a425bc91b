"""Milestone templates: the national budget calendar and the public-contest sequence as standard milestones.

rules: a template worked out into dated milestones; forms and views: applying one to a project; admin: editing
templates and applying one to selected projects.
"""
