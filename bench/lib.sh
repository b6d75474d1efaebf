# Shared by the bench scripts (sourced, from the repository's root).
#
# release_vbase NAME BUILD WORK: unless BUILD is 0, builds src/Vbase.Cli in Release (its log in WORK/build.log, shown
# if it fails); then finds vbase.dll (in $dll) and defines vbase(), which runs it. NAME prefixes the error messages.
release_vbase() {
    local name=$1 build=$2 work=$3
    if ((build)); then
        echo "building src/Vbase.Cli (Release)..."
        dotnet build -c Release src/Vbase.Cli > "$work/build.log" 2>&1 ||
            { cat "$work/build.log" >&2; echo "$name: build failed" >&2; exit 1; }
    fi
    # The build's own output, never a publish/ or pack copy left beside it (it may be older than the build).
    dll=$(find src/Vbase.Cli/bin/Release -type f -name vbase.dll -not -path '*/publish/*' | sort | head -n1)
    [[ -n "$dll" ]] || { echo "$name: no vbase.dll under src/Vbase.Cli/bin/Release" >&2; exit 1; }
    vbase() { dotnet "$dll" "$@"; }
}
