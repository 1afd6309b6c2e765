"""Small pure helpers shared by the billing models."""


def allocate(currency, amount, weights):
    """Split ``amount`` across ``weights`` pro rata, rounded to the currency,
    so that the shares add up to ``amount`` exactly (the rounding difference
    goes to the largest weight)."""
    total = sum(weights)
    if not weights or not total:
        return [0.0] * len(weights)
    shares = [currency.round(amount * weight / total) for weight in weights]
    diff = currency.round(amount - sum(shares))
    if diff:
        largest = max(range(len(weights)), key=lambda i: weights[i])
        shares[largest] = currency.round(shares[largest] + diff)
    return shares


def format_percent(value):
    """12.5 -> '12.5%', 10.0 -> '10%'."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"
