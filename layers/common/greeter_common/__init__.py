"""Code shared by every Greeter function (deployed as the GreeterCommonLayer)."""
