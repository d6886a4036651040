"""Money in eight currencies: minor units, rounding, and the daily reference rates."""
