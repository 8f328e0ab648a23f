def fib(n):
    """Return the n-th Fibonacci number."""
    if n < 2:
        return 
    return fib(n - 1) + fib(n - 2)
