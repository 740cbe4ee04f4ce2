"""Conversations between two members inside the platform, usually about a listing."""
