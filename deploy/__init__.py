"""Deployment files and the end-to-end deploy test."""
