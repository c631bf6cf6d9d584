"""Helpers the test tiers share: talking to the Auth, Firestore and Functions emulators."""
