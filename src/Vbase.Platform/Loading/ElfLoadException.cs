namespace Vbase.Platform.Loading;

/// <summary>
/// A program image could not be loaded: the file is missing or unreadable, is not an ELF, is not an RV64
/// little-endian executable, or does not fit the machine's RAM. The message is one line, fit for a user.
/// </summary>
public sealed class ElfLoadException : Exception
{
    public ElfLoadException(string message)
        : base(message)
    {
    }

    public ElfLoadException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
