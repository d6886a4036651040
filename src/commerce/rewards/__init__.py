"""Rewards for shoppers: achievements unlocked by what they buy, and quests they take on."""
