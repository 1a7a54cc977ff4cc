namespace ActorVmm.Host.Cli;

/// <summary>Bad input from the command line: reported as one line on stderr with exit code 2, before anything starts.</summary>
public sealed class UsageException : Exception
{
    /// <summary>Creates the exception with the line the user sees.</summary>
    public UsageException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the line the user sees and its cause.</summary>
    public UsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
